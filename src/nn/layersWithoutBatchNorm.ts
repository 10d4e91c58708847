import type { LayerEntry, LayersTopology } from './layersTopology.js';

const BATCH_NORM = 'BatchNormalization';

/** A layer's name, as layerGraph reads it. */
const nameOf = (entry: LayerEntry) => entry.name ?? entry.config.name;

/** `entry` with a bias (the folded BatchNorm's shift goes there). */
const withBias = (entry: LayerEntry): LayerEntry => ({ ...entry, config: { ...entry.config, use_bias: true } });

/**
 * The same network with every BatchNormalization folded into the Conv2D before it: the BatchNorm
 * layers removed, their convolutions given a bias (named `<conv>/bias`, where foldBatchNorm puts the
 * shift) and every reference to a BatchNorm redirected to its convolution. The topology must be one
 * the layers family accepts, where each BatchNorm directly follows a Conv2D that only it reads.
 */
export function topologyWithoutBatchNorm(topology: LayersTopology): LayersTopology {
  const layers = topology.config.layers;
  if (topology.class_name === 'Sequential') {
    const kept: LayerEntry[] = [];
    for (const entry of layers) {
      if (entry.class_name === BATCH_NORM) kept.push(withBias(kept.pop()!));
      else kept.push(entry);
    }
    return { ...topology, config: { ...topology.config, layers: kept } };
  }
  // BatchNorm name -> the convolution it reads
  const convOf = new Map<string, string>();
  for (const entry of layers) {
    if (entry.class_name === BATCH_NORM) convOf.set(nameOf(entry)!, entry.inbound_nodes![0]![0]![0]);
  }
  const convs = new Set(convOf.values());
  const redirect = <T extends [string, ...unknown[]]>(ref: T): T => [convOf.get(ref[0]) ?? ref[0], ...ref.slice(1)] as T;
  const kept = layers
    .filter((entry) => entry.class_name !== BATCH_NORM)
    .map((entry) => {
      const rewired = { ...entry, ...(entry.inbound_nodes ? { inbound_nodes: entry.inbound_nodes.map((call) => call.map(redirect)) } : {}) };
      return convs.has(nameOf(entry)!) ? withBias(rewired) : rewired;
    });
  const { output_layers } = topology.config;
  return {
    ...topology,
    config: { ...topology.config, layers: kept, ...(output_layers ? { output_layers: output_layers.map(redirect) } : {}) },
  };
}
