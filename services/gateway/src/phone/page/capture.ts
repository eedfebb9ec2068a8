import { encodeSample } from "./mulaw";

// The worklet runs in its own global scope; it only forwards mic samples to the page.
const WORKLET = `
class Tap extends AudioWorkletProcessor {
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) this.port.postMessage(ch.slice(0));
    return true;
  }
}
registerProcessor("vc-tap", Tap);
`;

/**
 * Microphone → 8 kHz mu-law 160-byte frames (20 ms). Downsampling averages each block of input
 * samples (a box low-pass), which keeps speech intelligible for the phone band.
 */
export async function startCapture(
  ctx: AudioContext,
  stream: MediaStream,
  onFrame: (mu: Uint8Array) => void,
): Promise<() => void> {
  const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
  await ctx.audioWorklet.addModule(url);
  const src = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "vc-tap");
  const ratio = ctx.sampleRate / 8000;
  const frame = new Uint8Array(160);
  let n = 0;
  let acc = 0;
  let accN = 0;
  let pos = 0;
  node.port.onmessage = (e: MessageEvent<Float32Array>) => {
    for (const x of e.data) {
      acc += x;
      accN++;
      pos += 1;
      if (pos >= ratio) {
        pos -= ratio;
        const s = Math.max(-1, Math.min(1, acc / accN));
        acc = 0;
        accN = 0;
        frame[n++] = encodeSample(Math.round(s * 32767));
        if (n === 160) {
          onFrame(frame.slice());
          n = 0;
        }
      }
    }
  };
  src.connect(node);
  // A muted sink keeps the graph pulling samples without echoing the mic to the speaker.
  const mute = ctx.createGain();
  mute.gain.value = 0;
  node.connect(mute).connect(ctx.destination);
  return () => {
    src.disconnect();
    node.disconnect();
    URL.revokeObjectURL(url);
  };
}
