import { z } from 'zod';
import { InputError } from '../util/errors.js';

/**
 * The topology of a TensorFlow.js LayersModel (`modelTopology` in model.json, as tfjs and the Keras
 * converter write it), read as a graph of layers. Only what merge-train uses is checked; every other
 * field passes through untouched, so the topology can be written back as it came.
 */

/** Another layer's output as Keras 2 and tfjs name it: [layer, node index, tensor index, call kwargs?]. */
const tensorRef = z.tuple([z.string(), z.number().int().nonnegative(), z.number().int().nonnegative()]).rest(z.unknown());

const layerEntry = z.looseObject({
  class_name: z.string(),
  name: z.string().optional(),
  config: z.looseObject({ name: z.string().optional() }),
  inbound_nodes: z
    .array(z.array(tensorRef, { error: 'expected [[layer, node, tensor, kwargs], ...] (Keras 2 / TensorFlow.js); the Keras 3 format is not supported' }))
    .optional(),
});

/** input_layers / output_layers: a list of references, or (some Keras 2 versions, one tensor) a single one. */
const tensorRefs = z.union([z.array(tensorRef), tensorRef.transform((ref) => [ref])]);

const modelClasses = ['Sequential', 'Model', 'Functional'] as const;

/**
 * A LayersModel topology: `{ class_name: Sequential | Model | Functional, config: { layers, ... } }`.
 * The converter's `{ model_config: {...}, training_config, ... }` wrapper is unwrapped.
 */
export const layersTopologySchema = z.preprocess(
  (value) => (isRecord(value) && isRecord(value.model_config) ? value.model_config : value),
  z.looseObject({
    class_name: z.enum(modelClasses),
    config: z.looseObject({
      name: z.string().optional(),
      layers: z.array(layerEntry).min(1),
      input_layers: tensorRefs.optional(),
      output_layers: tensorRefs.optional(),
    }),
  }),
);

/** A parsed topology (unknown fields kept). */
export type LayersTopology = z.output<typeof layersTopologySchema>;

/** One layer applied once: its class, its config and the layers whose outputs it reads, in order. */
export interface GraphNode {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inputs: string[];
}

/** A topology as a graph: nodes in an order where every node comes after its inputs. */
export interface LayerGraph {
  nodes: GraphNode[];
  /** The one input node (an InputLayer, written or implied by a Sequential's first layer). */
  input: string;
  /** The node whose output the model returns. */
  output: string;
}

/** Keras's input layer class; a Sequential whose first layer carries the input shape implies one. */
export const INPUT_LAYER = 'InputLayer';

/** A plain JSON object. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One layer of a topology as written (unknown fields kept). */
export type LayerEntry = z.output<typeof layerEntry>;

/** A layer's name: the entry's own (functional models) or its config's (Sequential). */
function layerName(entry: LayerEntry, index: number): string {
  const name = entry.name ?? entry.config.name;
  if (!name) throw new InputError(`layer ${index} (${entry.class_name}) has no name`);
  return name;
}

/** The graph of a Sequential: a chain, from an InputLayer or from an input implied by the first layer. */
function sequentialGraph(layers: LayerEntry[]): LayerGraph {
  const names = layers.map(layerName);
  const first = layers[0]!;
  const nodes: GraphNode[] = [];
  if (first.class_name !== INPUT_LAYER) {
    // tfjs and Keras name the implied input after the first layer.
    const { batch_input_shape, batch_shape } = first.config;
    nodes.push({ name: `${names[0]}_input`, className: INPUT_LAYER, config: { batch_input_shape, batch_shape }, inputs: [] });
  }
  layers.forEach((entry, i) => {
    if (i > 0 && entry.class_name === INPUT_LAYER) throw new InputError(`layer ${names[i]} (${INPUT_LAYER}) is not the first layer of the Sequential model`);
    nodes.push({ name: names[i]!, className: entry.class_name, config: entry.config, inputs: nodes.length > 0 ? [nodes[nodes.length - 1]!.name] : [] });
  });
  return { nodes, input: nodes[0]!.name, output: nodes[nodes.length - 1]!.name };
}

/** The one layer a list of input_layers / output_layers names, refusing models with several. */
function onlyRef(refs: [string, number, number, ...unknown[]][] | undefined, what: 'input' | 'output'): string | undefined {
  if (refs === undefined) return undefined;
  if (refs.length !== 1) throw new InputError(`the model has ${refs.length} ${what}s; merge-train reads models with one input and one output`);
  const [name, node, tensor] = refs[0]!;
  if (node !== 0 || tensor !== 0) throw new InputError(`the model's ${what} is ${name}'s node ${node} tensor ${tensor}; expected a layer applied once`);
  return name;
}

/** The graph of a functional model, from each layer's inbound_nodes. */
function functionalGraph(config: LayersTopology['config']): LayerGraph {
  const nodes = config.layers.map((entry, index): GraphNode => {
    const name = layerName(entry, index);
    const calls = entry.inbound_nodes ?? [];
    const isInput = entry.class_name === INPUT_LAYER;
    if (!isInput && calls.length !== 1) {
      throw new InputError(
        calls.length === 0
          ? `layer ${name} (${entry.class_name}) reads no other layer; only an ${INPUT_LAYER} may`
          : `layer ${name} (${entry.class_name}) is applied ${calls.length} times (shared weights); merge-train needs each layer applied once`,
      );
    }
    const inputs = (calls[0] ?? []).map(([source, node, tensor]) => {
      if (node !== 0 || tensor !== 0) {
        throw new InputError(`layer ${name} (${entry.class_name}) reads ${source}'s node ${node} tensor ${tensor}; merge-train needs each layer applied once, with one output`);
      }
      return source;
    });
    return { name, className: entry.class_name, config: entry.config, inputs };
  });
  const inputs = nodes.filter((node) => node.className === INPUT_LAYER);
  if (inputs.length !== 1) throw new InputError(`the model has ${inputs.length} ${INPUT_LAYER}s; merge-train reads models with one input and one output`);
  const input = onlyRef(config.input_layers, 'input') ?? inputs[0]!.name;
  if (input !== inputs[0]!.name) throw new InputError(`the model's input ${input} is not its ${INPUT_LAYER} ${inputs[0]!.name}`);
  const output = onlyRef(config.output_layers, 'output') ?? nodes[nodes.length - 1]!.name;
  return { nodes, input, output };
}

/** `nodes` reordered so that each comes after its inputs (stable: the written order where it already is). */
function topologicalOrder(nodes: GraphNode[]): GraphNode[] {
  const byName = new Map<string, GraphNode>();
  for (const node of nodes) {
    if (byName.has(node.name)) throw new InputError(`two layers are named ${node.name}`);
    byName.set(node.name, node);
  }
  for (const node of nodes) {
    const missing = node.inputs.find((source) => !byName.has(source));
    if (missing !== undefined) throw new InputError(`layer ${node.name} (${node.className}) reads layer ${missing}, which the model does not have`);
  }
  const placed = new Set<string>();
  const ordered: GraphNode[] = [];
  while (ordered.length < nodes.length) {
    const next = nodes.find((node) => !placed.has(node.name) && node.inputs.every((source) => placed.has(source)));
    if (!next) {
      const stuck = nodes.find((node) => !placed.has(node.name))!;
      throw new InputError(`layer ${stuck.name} (${stuck.className}) is on a cycle of layers`);
    }
    placed.add(next.name);
    ordered.push(next);
  }
  return ordered;
}

/**
 * The layer graph of a parsed topology: one input, one output, each layer applied once, every
 * reference resolved and no cycle; each problem is one InputError naming the layer.
 */
export function layerGraph(topology: LayersTopology): LayerGraph {
  const graph = topology.class_name === 'Sequential' ? sequentialGraph(topology.config.layers) : functionalGraph(topology.config);
  if (!graph.nodes.some((node) => node.name === graph.output)) throw new InputError(`the model's output ${graph.output} is not one of its layers`);
  return { ...graph, nodes: topologicalOrder(graph.nodes) };
}
