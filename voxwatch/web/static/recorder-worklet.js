// Runs in the audio thread: hands each block of microphone samples to the page, which builds a WAV from them
// (a WAV, not the browser's WebM/Opus, because the server decodes WAV, FLAC and OGG).
class VoxwatchRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("voxwatch-recorder", VoxwatchRecorder);
