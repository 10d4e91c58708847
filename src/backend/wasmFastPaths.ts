import * as tf from '@tensorflow/tfjs-core';
import { wasmAdamConfig } from './wasmAdam.js';
import { wasmAlphaMergeConfigs } from './wasmAlphaMerge.js';
import { wasmBatchNormConfigs } from './wasmBatchNorm.js';
import { wasmBroadcastOpConfigs } from './wasmBroadcastOps.js';
import { wasmConv2DConfigs } from './wasmConv2D.js';
import { wasmConv2DBackpropFilterConfig } from './wasmConv2DBackpropFilter.js';
import { wasmConv2DBackpropInputConfig } from './wasmConv2DBackpropInput.js';
import { wasmGatherRowsConfig } from './wasmGatherRows.js';
import { wasmMatMulConfigs } from './wasmMatMul.js';
import { wasmMaxPoolConfig } from './wasmMaxPool.js';
import { wasmMaxPoolGradConfig } from './wasmMaxPoolGrad.js';
import { wasmMomentumConfig } from './wasmMomentum.js';
import { wasmReluConfig } from './wasmRelu.js';
import { wasmRowVectorOpConfigs } from './wasmRowVectorOps.js';
import { wasmShareDataConfigs } from './wasmShareData.js';
import { wasmSliceConfig } from './wasmSlice.js';
import { wasmSumColumnsConfig } from './wasmSumColumns.js';
import { wasmTransposeConfig } from './wasmTranspose.js';

let installed = false;

/**
 * Installs merge-train's own 'wasm' kernels (the tfjs 4.22 wasm backend lacks some that training
 * needs and has slow ones), all on the heap kernels (heapKernels/*.wat) over the backend's memory and
 * threads:
 * - products: BatchMatMul and _FusedMatMul on merge-train's gemm (no repacking of new weights, no slow
 *   transposed operands); Conv2D and FusedConv2D (bias, ReLU) as an implicit gemm; Conv2DBackpropFilter
 *   (missing from the backend) as the gemm over x's patches; Conv2DBackpropInput from the convolution,
 *   stride phases written straight into dx;
 * - training steps: training-mode BatchNorm with an optional fused ReLU, forward and backward; the SGD
 *   momentum and Adam steps; learned alpha's merge of weights and its gradient;
 * - passes: 2x2 max pooling and the max-pool gradient; Sum and Mean over leading or middle axes;
 *   Add, Sub and Multiply of a vector broadcast over rows or middle axes; ReLU; Transpose of the last
 *   two axes; GatherV2 of whole rows; Slice of a contiguous range;
 * - Identity and same-dtype Cast share their input's data instead of copying it.
 * Only the 'wasm' registrations are touched; tfjs-node and cpu keep their kernels. Idempotent.
 */
export function installWasmFastPaths(): void {
  if (installed) return;
  installed = true;
  for (const config of wasmMatMulConfigs()) replaceKernel(config);
  // before Conv2DBackpropInput, which is composed from Conv2D
  for (const config of wasmConv2DConfigs()) replaceKernel(config);
  replaceKernel(wasmConv2DBackpropFilterConfig());
  replaceKernel(wasmConv2DBackpropInputConfig());
  replaceKernel(wasmGatherRowsConfig());
  replaceKernel(wasmSliceConfig());
  replaceKernel(wasmTransposeConfig());
  replaceKernel(wasmSumColumnsConfig('Sum'));
  replaceKernel(wasmSumColumnsConfig('Mean'));
  replaceKernel(wasmMaxPoolConfig());
  replaceKernel(wasmMaxPoolGradConfig());
  replaceKernel(wasmMomentumConfig());
  replaceKernel(wasmAdamConfig());
  for (const config of wasmAlphaMergeConfigs()) replaceKernel(config);
  for (const config of wasmBatchNormConfigs()) replaceKernel(config);
  for (const config of wasmRowVectorOpConfigs()) replaceKernel(config);
  // after the row-vector ops: these hand them the calls they decline
  for (const config of wasmBroadcastOpConfigs()) replaceKernel(config);
  replaceKernel(wasmReluConfig());
  for (const config of wasmShareDataConfigs()) replaceKernel(config);
}

/** Registers `config`, in place of the backend's own kernel of that name if there is one. */
function replaceKernel(config: tf.KernelConfig | undefined): void {
  if (!config) return; // a kernel it is composed from is missing: keep what the backend has
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}
