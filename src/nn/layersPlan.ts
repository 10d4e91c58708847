import { InputError } from '../util/errors.js';
import { describeLayer, layerOp, unsupported, type LayerOp, type Pair } from './layersOps.js';
import { layerGraph, type GraphNode, type LayersTopology } from './layersTopology.js';
import { consumes, produces, type AffineLayer, type BatchNormLayer, type ConvLayer, type LayerInfo, type ParamSpec } from './spec.js';

/**
 * Derives everything a spec needs from a LayersModel's graph: parameters named as tfjs names its
 * weights, in tfjs's layouts, with the feature space of every axis; the declared layers; and the
 * steps of the forward pass with the points where each space is probed.
 *
 * Spaces: a Dense or Conv2D output (other than the logits) opens one; BatchNorm, ReLU, pooling,
 * zero padding, dropout and flattening a 1x1 map keep it; an Add joins the spaces of everything it adds into one
 * (a residual stream: every layer writing into it and every layer reading it share the space). A
 * space is named after the first layer, in forward order, that produces it.
 */

/** How the forward pass computes one node from its inputs' outputs. */
export type Step =
  | { kind: 'input'; reshape?: number[] }
  | { kind: 'dense'; layer: AffineLayer; relu: boolean }
  | { kind: 'conv'; layer: ConvLayer; strides: number; padding: 'same' | 'valid'; relu: boolean }
  | { kind: 'batchNorm'; norm: BatchNormLayer }
  | { kind: 'relu' }
  | { kind: 'identity' }
  | { kind: 'flatten'; size: number }
  | { kind: 'pool'; mode: 'max' | 'average'; size: Pair; strides: Pair; padding: 'same' | 'valid' }
  | { kind: 'globalAveragePool'; keepDims: boolean }
  | { kind: 'pad'; padding: [Pair, Pair] }
  | { kind: 'add' };

/** One node of the forward pass: its step, the nodes it reads (by index) and the space probed at its output, if any. */
export interface PlannedNode {
  name: string;
  step: Step;
  inputs: number[];
  probe?: string;
}

/** A derived model: what a spec declares, and the forward pass's nodes in order. */
export interface LayersPlan {
  params: Record<string, ParamSpec>;
  layers: LayerInfo[];
  nodes: PlannedNode[];
  /** The node whose output is the logits (after any dropped softmax). */
  output: number;
}

/** A node's output: one example's shape and the space (an id until names are settled) of its last axis. */
interface Value {
  shape: number[];
  space: number | null;
}

/** A parameter axis label by space id, turned into a name once every Add has joined its spaces. */
type PendingAxis = { space: number; role: 'out' | 'in' } | null;

/** The number of values in a shape. */
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Glorot (Xavier) uniform, Keras's default kernel initialiser: U(+-sqrt(6 / (fan_in + fan_out))). */
function glorotBound(shape: number[]): number {
  const receptive = size(shape.slice(0, -2));
  const [inputs, outputs] = shape.slice(-2) as [number, number];
  return Math.sqrt(6 / (receptive * (inputs + outputs)));
}

/** One spatial side of a convolution or pooling's output, as TensorFlow computes it. */
function outputSide(side: number, window: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(side / stride) : Math.floor((side - window) / stride) + 1;
}

/** Refuses a node that reads more or fewer inputs than its layer takes. */
function checkArity(node: GraphNode, op: LayerOp): void {
  const wanted = op.kind === 'input' ? 'no' : op.kind === 'add' ? 'at least two' : 'one';
  const count = node.inputs.length;
  const ok = op.kind === 'input' ? count === 0 : op.kind === 'add' ? count >= 2 : count === 1;
  if (!ok) throw new InputError(`${describeLayer(node)} reads ${count} inputs; expected ${wanted}`);
}

/**
 * The Dense layer whose output is the logits: the output's source through a final softmax, linear
 * activation or dropout (the tail, which the spec drops); refused unless it is a Dense.
 */
function findLogits(nodes: GraphNode[], ops: LayerOp[], inputsOf: number[][], output: number): { logits: number; tail: Set<number> } {
  const tail = new Set<number>();
  let logits = output;
  for (let op = ops[logits]!; op.kind === 'identity' || (op.kind === 'activation' && op.activation !== 'relu'); op = ops[logits]!) {
    tail.add(logits);
    logits = inputsOf[logits]![0]!;
  }
  if (ops[logits]!.kind !== 'dense') {
    throw new InputError(`the model's output comes from ${describeLayer(nodes[logits]!)}, not from a Dense layer; merge-train needs the class logits from a final Dense`);
  }
  return { logits, tail };
}

/** What a topology itself says of its data: one example's shape (where its input declares all of it) and the number of classes. */
export function declaredShapes(topology: LayersTopology): { inputShape?: number[]; numClasses: number } {
  const graph = layerGraph(topology);
  const index = new Map(graph.nodes.map((node, i) => [node.name, i]));
  const ops = graph.nodes.map(layerOp);
  const inputsOf = graph.nodes.map((node) => node.inputs.map((name) => index.get(name)!));
  const { logits } = findLogits(graph.nodes, ops, inputsOf, index.get(graph.output)!);
  const input = ops[index.get(graph.input)!]!;
  const shape = input.kind === 'input' ? input.shape : undefined;
  const numClasses = (ops[logits] as Extract<LayerOp, { kind: 'dense' }>).units;
  return shape?.every((side) => side !== null) ? { inputShape: shape as number[], numClasses } : { numClasses };
}

/**
 * The plan of `topology` for examples of `inputShape` and `numClasses` classes; a layer or a
 * structure the spec cannot express is refused with one InputError naming the layer.
 */
export function planLayersModel(topology: LayersTopology, inputShape: number[], numClasses: number): LayersPlan {
  const graph = layerGraph(topology);
  const index = new Map(graph.nodes.map((node, i) => [node.name, i]));
  const ops = graph.nodes.map((node) => {
    const op = layerOp(node);
    checkArity(node, op);
    return op;
  });
  const inputsOf = graph.nodes.map((node) => node.inputs.map((name) => index.get(name)!));
  const consumers = graph.nodes.map(() => [] as number[]);
  inputsOf.forEach((inputs, i) => inputs.forEach((j) => consumers[j]!.push(i)));
  const output = index.get(graph.output)!;
  graph.nodes.forEach((node, i) => {
    if (i !== output && consumers[i]!.length === 0) throw new InputError(`${describeLayer(node)}: its output is not used; merge-train reads models whose every layer leads to the one output`);
  });

  const { logits, tail } = findLogits(graph.nodes, ops, inputsOf, output);
  const logitsNode = graph.nodes[logits]!;
  const logitsOp = ops[logits] as Extract<LayerOp, { kind: 'dense' }>;
  if (logitsOp.activation === 'relu') throw unsupported(logitsNode, 'it gives the class logits but applies relu; the last Dense may only be linear or softmax (dropped: specs return logits)');
  if (logitsOp.units !== numClasses) throw new InputError(`${describeLayer(logitsNode)} gives ${logitsOp.units} class logits, but the data has ${numClasses} classes`);

  // Feature spaces as a union-find over ids; the root is the lowest id, the earliest producer.
  const parent: number[] = [];
  const producer: string[] = [];
  const newSpace = (name: string) => {
    parent.push(parent.length);
    producer.push(name);
    return parent.length - 1;
  };
  const find = (id: number): number => (parent[id] === id ? id : (parent[id] = find(parent[id]!)));
  const join = (a: number, b: number) => {
    const [low, high] = [find(a), find(b)].sort((x, y) => x - y) as [number, number];
    parent[high] = low;
  };

  const pending: Record<string, { shape: number[]; axes: PendingAxis[]; init: ParamSpec['init']; trainable?: false }> = {};
  const layers: LayerInfo[] = [];
  const steps: Step[] = [];
  const values: Value[] = [];
  const convs = new Map<number, ConvLayer>();
  const label = (space: number | null, role: 'out' | 'in'): PendingAxis => (space === null ? null : { space, role });

  graph.nodes.forEach((node, i) => {
    const op = ops[i]!;
    const input = values[inputsOf[i]![0]!];
    const spatial = (what: string): [number, number, number] => {
      if (input!.shape.length !== 3) throw unsupported(node, `its input has shape [${input!.shape.join(', ')}]; ${what} needs [height, width, channels]`);
      return input!.shape as [number, number, number];
    };
    const refuseSoftmax = (activation: string) => {
      if (activation === 'softmax' && !tail.has(i) && i !== logits) {
        throw unsupported(node, 'softmax inside the network; merge-train supports it only at the output, where it is dropped (specs return logits)');
      }
    };
    let value: Value;
    switch (op.kind) {
      case 'input': {
        const declared = op.shape;
        const fits = !declared || (declared.length === inputShape.length && declared.every((side, k) => side === null || side === inputShape[k]));
        // The same values in another shape (a [784] input for [28, 28, 1] images) are read as that shape, row-major.
        const reshaped = !fits && declared!.every((side) => side !== null) && size(declared as number[]) === size(inputShape);
        if (!fits && !reshaped) {
          throw new InputError(`the model's input ${node.name} takes examples of shape [${declared!.map((s) => s ?? '?').join(', ')}], but the data's are [${inputShape.join(', ')}]`);
        }
        const shape = reshaped ? (declared as number[]) : [...inputShape];
        steps.push(reshaped ? { kind: 'input', reshape: shape } : { kind: 'input' });
        value = { shape, space: null };
        break;
      }
      case 'dense': {
        if (input!.shape.length !== 1) throw unsupported(node, `its input has shape [${input!.shape.join(', ')}]; merge-train applies Dense to vectors (Flatten or pool first)`);
        if (!op.useBias) throw unsupported(node, "use_bias false; merge-train's dense layers have a bias");
        refuseSoftmax(op.activation);
        const space = i === logits ? null : newSpace(node.name);
        const layer: AffineLayer = { weight: `${node.name}/kernel`, bias: `${node.name}/bias` };
        const shape = [input!.shape[0]!, op.units];
        pending[layer.weight] = { shape, axes: [label(input!.space, 'in'), label(space, 'out')], init: { kind: 'boundedUniform', bound: glorotBound(shape) } };
        pending[layer.bias] = { shape: [op.units], axes: [label(space, 'out')], init: { kind: 'zeros' } };
        layers.push({ kind: 'dense', ...layer });
        steps.push({ kind: 'dense', layer, relu: op.activation === 'relu' });
        value = { shape: [op.units], space };
        break;
      }
      case 'conv': {
        const [height, width, channels] = spatial('Conv2D');
        if (op.strides[0] !== op.strides[1]) throw unsupported(node, `strides [${op.strides.join(', ')}]; merge-train convolves with one stride on both axes`);
        refuseSoftmax(op.activation);
        const sides = [outputSide(height, op.kernel[0], op.strides[0], op.padding), outputSide(width, op.kernel[1], op.strides[1], op.padding)];
        if (sides.some((side) => side < 1)) throw new InputError(`${describeLayer(node)}: its ${height}x${width} input is smaller than its ${op.kernel.join('x')} kernel`);
        const space = newSpace(node.name);
        const layer: ConvLayer = { weight: `${node.name}/kernel`, ...(op.useBias ? { bias: `${node.name}/bias` } : {}) };
        const shape = [...op.kernel, channels, op.filters];
        pending[layer.weight] = { shape, axes: [null, null, label(input!.space, 'in'), label(space, 'out')], init: { kind: 'boundedUniform', bound: glorotBound(shape) } };
        if (layer.bias) pending[layer.bias] = { shape: [op.filters], axes: [label(space, 'out')], init: { kind: 'zeros' } };
        layers.push({ kind: 'conv', ...layer });
        convs.set(i, layer);
        steps.push({ kind: 'conv', layer, strides: op.strides[0], padding: op.padding, relu: op.activation === 'relu' });
        value = { shape: [...sides, op.filters], space };
        break;
      }
      case 'batchNorm': {
        const source = inputsOf[i]![0]!;
        const sourceOp = ops[source]!;
        const follows = convs.get(source);
        if (!follows || sourceOp.kind !== 'conv' || sourceOp.activation !== 'linear' || consumers[source]!.length !== 1) {
          throw unsupported(node, 'BatchNormalization must directly follow a Conv2D without activation whose output it alone reads (merge-train folds BatchNorm into that convolution)');
        }
        const channels = input!.shape[input!.shape.length - 1]!;
        const norm: BatchNormLayer = {
          weight: `${node.name}/gamma`,
          bias: `${node.name}/beta`,
          runningMean: `${node.name}/moving_mean`,
          runningVar: `${node.name}/moving_variance`,
          epsilon: op.epsilon,
        };
        const axes = [label(input!.space, 'out')];
        pending[norm.weight] = { shape: [channels], axes, init: { kind: 'ones' } };
        pending[norm.bias] = { shape: [channels], axes, init: { kind: 'zeros' } };
        pending[norm.runningMean] = { shape: [channels], axes, init: { kind: 'zeros' }, trainable: false };
        pending[norm.runningVar] = { shape: [channels], axes, init: { kind: 'ones' }, trainable: false };
        layers.push({ kind: 'batchNorm', norm, follows });
        steps.push({ kind: 'batchNorm', norm });
        value = { ...input! };
        break;
      }
      case 'activation':
        refuseSoftmax(op.activation);
        steps.push(op.activation === 'relu' ? { kind: 'relu' } : { kind: 'identity' });
        value = { ...input! };
        break;
      case 'identity':
        steps.push({ kind: 'identity' });
        value = { ...input! };
        break;
      case 'flatten': {
        const positions = input!.shape.slice(0, -1);
        const carried = size(positions) === 1 ? input!.space : null;
        if (input!.space !== null && carried === null) {
          throw unsupported(
            node,
            `it flattens ${positions.join('x')} positions of feature space ${producer[find(input!.space)]} into one axis, which a per-axis feature space ` +
              "cannot label; pool to 1x1 first (GlobalAveragePooling2D, as merge-train's VGG)",
          );
        }
        steps.push({ kind: 'flatten', size: size(input!.shape) });
        value = { shape: [size(input!.shape)], space: carried };
        break;
      }
      case 'pool': {
        const [height, width, channels] = spatial(node.className);
        const sides = [outputSide(height, op.size[0], op.strides[0], op.padding), outputSide(width, op.size[1], op.strides[1], op.padding)];
        if (sides.some((side) => side < 1)) throw new InputError(`${describeLayer(node)}: its ${height}x${width} input is smaller than its ${op.size.join('x')} window`);
        steps.push({ kind: 'pool', mode: op.mode, size: op.size, strides: op.strides, padding: op.padding });
        value = { shape: [...sides, channels], space: input!.space };
        break;
      }
      case 'globalAveragePool': {
        const channels = spatial('GlobalAveragePooling2D')[2];
        steps.push({ kind: 'globalAveragePool', keepDims: op.keepDims });
        value = { shape: op.keepDims ? [1, 1, channels] : [channels], space: input!.space };
        break;
      }
      case 'pad': {
        const [height, width, channels] = spatial(node.className);
        const [[top, bottom], [left, right]] = op.padding;
        steps.push({ kind: 'pad', padding: op.padding });
        value = { shape: [height + top + bottom, width + left + right, channels], space: input!.space };
        break;
      }
      case 'add': {
        const added = inputsOf[i]!.map((j) => values[j]!);
        const shapes = added.map((v) => `[${v.shape.join(', ')}]`);
        if (new Set(shapes).size > 1) throw new InputError(`${describeLayer(node)} adds outputs of different shapes: ${shapes.join(', ')}`);
        const spaces = added.map((v) => v.space);
        if (spaces.some((s) => s === null) && spaces.some((s) => s !== null)) {
          throw unsupported(node, "it adds the model's input to a feature space, which alignment could not transform alike");
        }
        for (const space of spaces) if (space !== null) join(space, spaces[0]!);
        steps.push({ kind: 'add' });
        value = { shape: [...added[0]!.shape], space: spaces[0]! };
        break;
      }
    }
    values.push(value);
  });

  const spaceName = (id: number) => producer[find(id)]!;
  const params: Record<string, ParamSpec> = {};
  for (const [name, { axes, ...rest }] of Object.entries(pending)) {
    params[name] = { ...rest, axes: axes.map((axis) => (axis === null ? null : axis.role === 'out' ? produces(spaceName(axis.space)) : consumes(spaceName(axis.space)))) };
  }
  const probes = probePoints(steps, inputsOf, values, find);
  const nodes = graph.nodes.map((node, i): PlannedNode => {
    const probed = probes.get(i);
    return { name: node.name, step: steps[i]!, inputs: inputsOf[i]!, ...(probed === undefined ? {} : { probe: spaceName(probed) }) };
  });
  return { params, layers, nodes, output };
}

/**
 * Where each space is probed, node index -> space id: after every ReLU (its hidden activations, as
 * merge-train's families probe them; a residual stream once per block); a space no ReLU acts on, at
 * what each Dense or Conv2D reading it reads.
 */
function probePoints(steps: Step[], inputsOf: number[][], values: Value[], find: (id: number) => number): Map<number, number> {
  const probes = new Map<number, number>();
  steps.forEach((step, i) => {
    const space = values[i]!.space;
    const relu = step.kind === 'relu' || ((step.kind === 'dense' || step.kind === 'conv') && step.relu);
    if (relu && space !== null) probes.set(i, space);
  });
  const rectified = new Set([...probes.values()].map(find));
  steps.forEach((step, i) => {
    if (step.kind !== 'dense' && step.kind !== 'conv') return;
    const source = inputsOf[i]![0]!;
    const space = values[source]!.space;
    if (space !== null && !rectified.has(find(space))) probes.set(source, space);
  });
  return probes;
}
