export type * from "./types";
export { speechConfigSchema, type SpeechConfig } from "./config";
export { createSpeechPipelineFactory, type SpeechFactory, type SpeechFactoryDeps } from "./factory";
export { openPipeline, type PipelineParts } from "./pipeline";
export { Endpointer, type EndpointerOptions, type EndpointEvent } from "./endpointer";
export { createWebrtcVad } from "./vad-webrtc";
// Silero (./vad-silero) is not re-exported: the factory imports it only when VAD_PROVIDER=silero.
export { createPocketsphinxStt, type PocketsphinxOptions, type PocketsphinxStt } from "./stt-pocketsphinx";
export { createDeepgramStt, deepgramListenUrl, type DeepgramOptions } from "./stt-deepgram";
