// A small declarative schema for resources, and the walker that checks a value against it.
//
// The walker reports every problem it finds (never stops at the first), rejects unknown fields
// with a suggestion, drops fields whose value is null (as Kubernetes does), and returns a cleaned
// copy with object keys in schema order and map keys sorted — the canonical shape that is
// stored and printed.

import { didYouMean } from '../suggest.js';
import { describeValue, isPlainObject, type Path, type Problems } from './problems.js';

type Check<T> = (value: T, path: Path, problems: Problems) => void;

export interface StringSchema {
  type: 'string';
  enum?: readonly string[];
  check?: Check<string>;
}
export interface IntegerSchema {
  type: 'integer';
  min: number;
  max: number;
  check?: Check<number>;
}
export interface NumberSchema {
  type: 'number';
}
export interface BooleanSchema {
  type: 'boolean';
}
export interface ArraySchema {
  type: 'array';
  items: Schema;
  minItems?: number;
  check?: Check<unknown[]>;
}
export interface ObjectSchema {
  type: 'object';
  fields: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  /** Cross-field checks, run on the cleaned object (fields may still hold invalid values). */
  check?: Check<Record<string, unknown>>;
  /** A special explanation for an unknown field, instead of the generic one. */
  unknownField?: (key: string) => string | undefined;
}
export interface MapSchema {
  type: 'map';
  key?: Check<string>;
  values: Schema;
  check?: Check<Record<string, unknown>>;
}
/** Anything else: checks the value and returns its cleaned form. */
export interface CustomSchema {
  type: 'custom';
  check: (value: unknown, path: Path, problems: Problems) => unknown;
}

export type Schema =
  | StringSchema
  | IntegerSchema
  | NumberSchema
  | BooleanSchema
  | ArraySchema
  | ObjectSchema
  | MapSchema
  | CustomSchema;

// ---------------------------------------------------------------------------------------------
// Builders, so schemas read as data.

export const str = (opts: Omit<StringSchema, 'type'> = {}): StringSchema => ({ type: 'string', ...opts });
export const int = (min: number, max: number, check?: Check<number>): IntegerSchema =>
  check ? { type: 'integer', min, max, check } : { type: 'integer', min, max };
export const num = (): NumberSchema => ({ type: 'number' });
export const bool = (): BooleanSchema => ({ type: 'boolean' });
export const list = (items: Schema, opts: Omit<ArraySchema, 'type' | 'items'> = {}): ArraySchema => ({
  type: 'array',
  items,
  ...opts,
});
export const obj = (
  fields: Readonly<Record<string, Schema>>,
  opts: Omit<ObjectSchema, 'type' | 'fields'> = {},
): ObjectSchema => ({ type: 'object', fields, ...opts });
export const map = (values: Schema, opts: Omit<MapSchema, 'type' | 'values'> = {}): MapSchema => ({
  type: 'map',
  values,
  ...opts,
});
export const custom = (check: CustomSchema['check']): CustomSchema => ({ type: 'custom', check });

// ---------------------------------------------------------------------------------------------

function quoted(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Checks `value` against `schema`, reporting problems under `path`. Returns the cleaned value. */
export function walk(schema: Schema, value: unknown, path: Path, problems: Problems): unknown {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') {
        problems.add(path, `expected a string, found ${describeValue(value)}`);
        return value;
      }
      if (schema.enum && !schema.enum.includes(value)) {
        problems.add(
          path,
          `${quoted(value)} is not one of ${schema.enum.join(', ')}${didYouMean(value, schema.enum)}`,
        );
        return value;
      }
      schema.check?.(value, path, problems);
      return value;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        const unquote =
          typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? ' (write it without quotes)' : '';
        problems.add(path, `expected an integer, found ${describeValue(value)}${unquote}`);
        return value;
      }
      if (value < schema.min || value > schema.max) {
        problems.add(path, `${value} is out of range (${schema.min}..${schema.max})`);
        return value;
      }
      schema.check?.(value, path, problems);
      return value;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        problems.add(path, `expected a number, found ${describeValue(value)}`);
      }
      return value;
    }
    case 'boolean': {
      if (typeof value !== 'boolean') {
        const unquote =
          typeof value === 'string' && /^(true|false|yes|no|on|off)$/i.test(value)
            ? ` (write ${/^(true|yes|on)$/i.test(value) ? 'true' : 'false'} without quotes)`
            : '';
        problems.add(path, `expected true or false, found ${describeValue(value)}${unquote}`);
      }
      return value;
    }
    case 'array': {
      if (!Array.isArray(value)) {
        problems.add(path, `expected a list, found ${describeValue(value)}`);
        return value;
      }
      const out = value.map((item, i) => {
        if (item === null || item === undefined) {
          problems.add([...path, i], 'empty list item (null)');
          return item;
        }
        return walk(schema.items, item, [...path, i], problems);
      });
      if (schema.minItems !== undefined && out.length < schema.minItems) {
        problems.add(
          path,
          schema.minItems === 1 ? 'must not be empty' : `needs at least ${schema.minItems} items`,
        );
      }
      schema.check?.(out, path, problems);
      return out;
    }
    case 'object': {
      if (!isPlainObject(value)) {
        problems.add(path, `expected an object, found ${describeValue(value)}`);
        return value;
      }
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(schema.fields)) {
        const v = value[key];
        if (v === undefined || v === null) continue;
        out[key] = walk(field, v, [...path, key], problems);
      }
      for (const key of Object.keys(value)) {
        if (Object.hasOwn(schema.fields, key)) continue;
        const special = schema.unknownField?.(key);
        if (special !== undefined) {
          problems.add([...path, key], special);
          continue;
        }
        const names = Object.keys(schema.fields);
        const hint = didYouMean(key, names);
        problems.add(
          [...path, key],
          hint ? `unknown field${hint}` : `unknown field (fields here: ${names.join(', ')})`,
        );
      }
      for (const key of schema.required ?? []) {
        if (value[key] === undefined || value[key] === null) problems.add([...path, key], 'required field missing');
      }
      schema.check?.(out, path, problems);
      return out;
    }
    case 'map': {
      if (!isPlainObject(value)) {
        problems.add(path, `expected an object (a map of names to values), found ${describeValue(value)}`);
        return value;
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        if (key === '__proto__') {
          problems.add([...path, key], 'this key is not allowed');
          continue;
        }
        schema.key?.(key, [...path, key], problems);
        const v = value[key];
        if (v === undefined || v === null) {
          problems.add([...path, key], 'missing value (null)');
          continue;
        }
        out[key] = walk(schema.values, v, [...path, key], problems);
      }
      schema.check?.(out, path, problems);
      return out;
    }
    case 'custom':
      return schema.check(value, path, problems);
  }
}
