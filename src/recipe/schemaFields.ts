import type { z } from 'zod';

/** A field path in a recipe: `['align', 'methods', 1]`. */
export type Path = readonly PropertyKey[];

/** Minimal view of zod 4's schema internals: enough to walk a schema along a field path. */
export interface SchemaNode {
  readonly description?: string;
  readonly isInt?: boolean;
  readonly def: {
    type: string;
    innerType?: SchemaNode;
    shape?: Record<string, SchemaNode>;
    element?: SchemaNode;
    valueType?: SchemaNode;
  };
}

/** Looks through defaults, prefaults, optionals and nullables; keeps the outermost description. */
function unwrap(start: SchemaNode): { node: SchemaNode; description?: string } {
  let node = start;
  let description = node.description;
  for (let depth = 0; depth < 8 && node.def.innerType; depth++) {
    node = node.def.innerType;
    description ??= node.description;
  }
  return { node, description };
}

/** The schema of the field at `path` (through objects, arrays and records), if there is one. */
export function schemaAt(root: z.ZodType, path: Path): { node: SchemaNode; description?: string } | undefined {
  let current = unwrap(root as unknown as SchemaNode);
  for (const key of path) {
    const { def } = current.node;
    const next =
      def.type === 'object' ? (Object.hasOwn(def.shape ?? {}, String(key)) ? def.shape?.[String(key)] : undefined)
      : def.type === 'array' ? def.element
      : def.type === 'record' ? def.valueType
      : undefined;
    if (!next) return undefined;
    current = unwrap(next);
  }
  return current;
}

/** The allowed keys at a path of a schema, for did-you-mean on unknown fields. */
export function keysAt(root: z.ZodType, path: Path): string[] {
  const node = schemaAt(root, path)?.node;
  return node?.def.type === 'object' ? Object.keys(node.def.shape ?? {}) : [];
}

/** The field's own schema node at `path`, before its defaults and optionals are looked through. */
function fieldNode(root: z.ZodType, path: Path): SchemaNode | undefined {
  if (path.length === 0) return root as unknown as SchemaNode;
  const parent = schemaAt(root, path.slice(0, -1))?.node;
  const key = String(path[path.length - 1]);
  return parent?.def.type === 'object' && Object.hasOwn(parent.def.shape ?? {}, key) ? parent.def.shape?.[key] : undefined;
}

/** The values of an enum node, or of the enum elements of an array node. */
function choicesOf(node: SchemaNode): string[] | undefined {
  const target = node.def.type === 'array' && node.def.element ? unwrap(node.def.element).node : node;
  const entries = target.def.type === 'enum' ? (target.def as { entries?: Record<string, string> }).entries : undefined;
  return entries ? Object.values(entries) : undefined;
}

/** What the command line shows of a recipe field: its description, its choices and its default. */
export function fieldHelp(root: z.ZodType, path: Path): { description?: string; choices?: string[]; defaultValue?: unknown } {
  const field = fieldNode(root, path);
  if (!field) return {};
  const { node, description } = unwrap(field);
  let defaultValue: unknown;
  for (let wrapper: SchemaNode | undefined = field, depth = 0; wrapper && depth < 8; wrapper = wrapper.def.innerType, depth++) {
    if (wrapper.def.type !== 'default') continue;
    const value = (wrapper.def as { defaultValue?: unknown }).defaultValue;
    defaultValue = typeof value === 'function' ? (value as () => unknown)() : value;
    break;
  }
  const choices = choicesOf(node);
  return { ...(description ? { description } : {}), ...(choices ? { choices } : {}), ...(defaultValue !== undefined ? { defaultValue } : {}) };
}
