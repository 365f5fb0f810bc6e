// Runs on the audio thread: hands 16 kHz microphone samples to the page in ~20 ms blocks.
class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = [];
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) this.buffer.push(channel[i]);
      if (this.buffer.length >= 320) {
        this.port.postMessage(Float32Array.from(this.buffer));
        this.buffer = [];
      }
    }
    return true;
  }
}
registerProcessor("mic-capture", MicCapture);
