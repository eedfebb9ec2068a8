/** `@voicecall/tts/testing`: vendor fakes for other packages' tests and benchmarks. */
export { startFakeVendors, type FakeVendors, type VendorMode } from "./fake-vendors";
