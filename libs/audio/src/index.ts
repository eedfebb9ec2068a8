export * from "./mulaw";
export * from "./framing";
export { resample } from "./resample";
export { readWav, writeWav, type Pcm } from "./wav";
export { rms, voicedMs } from "./measure";
