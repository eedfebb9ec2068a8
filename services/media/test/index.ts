/** `@voicecall/media/testing`: what other packages' tests and benchmarks use to drive media. */
export { startHarness, rampAudio, AUTH_TOKEN, SECRET, type Harness, type Worker } from "./harness";
export { TwilioStream, sid, type TwilioStreamOptions } from "./twilio-stream";
export { energyPipelineFactory } from "./energy-pipeline";
export { startFakeDeepgram, type FakeDeepgram, type FakeDeepgramOptions } from "./speech/deepgram-fake";
export { callerTurn, synthMulaw, TEST_VOICES, type TestVoice } from "./speech/synth-speech";
export { PHRASES, phraseGrammar, wordErrors } from "./speech/test-phrases";
export { segmentWith, speechSpan, type Segment } from "./speech/vad-eval";
