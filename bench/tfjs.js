// @tensorflow/tfjs-backend-webgpu on the same Dawn adapter, for comparison. tfjs asks navigator.gpu
// for an adapter without a feature level; Dawn→OpenGL only offers 'compatibility' adapters, so the
// request is forwarded with that level when our engine runs on OpenGL.
export async function loadTfjs(backend) {
  const { create } = await import('webgpu');
  const gpu = create(backend === 'opengl' ? ['backend=opengl'] : backend === 'vulkan' ? ['backend=vulkan'] : []);
  globalThis.__tfjsGpu = gpu; // keep Dawn's instance alive for the process
  globalThis.navigator = {
    gpu: {
      requestAdapter: (o) => gpu.requestAdapter({ ...o, ...(backend === 'opengl' ? { featureLevel: 'compatibility' } : {}) }),
      getPreferredCanvasFormat: () => 'rgba8unorm',
      wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    },
  };
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-backend-webgpu did not initialise');
  const sync = async () => {
    const b = tf.backend();
    b.endComputePassEncoder();
    b.submitQueue();
    await b.device.queue.onSubmittedWorkDone();
  };
  return { tf, sync };
}
