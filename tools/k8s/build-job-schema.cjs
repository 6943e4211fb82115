#!/usr/bin/env node
// Builds one self-contained, strict JSON Schema (draft-07) for a Kubernetes batch/v1 Job from the
// schemas that the npm package kubernetes-models (4.3.1 = Kubernetes 1.27.1 OpenAPI) ships in
// node_modules/kubernetes-models/_schemas and node_modules/@kubernetes-models/apimachinery/_schemas.
//
//   node build-job-schema.cjs <node_modules folder> <output.json> [--inline]
//
// What it does to the package's schemas (they are OpenAPI-flavoured JSON Schema fragments that
// register themselves with ajv under ids like "io.k8s.api.batch.v1.JobSpec"):
//   * collects every fragment reachable from io.k8s.api.batch.v1.Job (by stubbing the package's
//     register() call) into "definitions", rewriting "$ref": "<id>#" to "#/definitions/<id>";
//     with --inline every $ref is replaced by a copy of its target instead (no "definitions");
//   * turns the OpenAPI keyword "nullable: true" into standard JSON Schema (adds "null" to "type"
//     and, where there is one, to "enum");
//   * makes it strict like kubectl / kubeconform's "-strict" schemas: every object schema that lists
//     "properties" and says nothing about "additionalProperties" gets "additionalProperties": false
//     (maps such as labels keep their "additionalProperties": {"type": "string"});
//   * keeps "format" (int32, int64, date-time, quantity): validators treat unknown formats as
//     annotations (ajv: see validate-manifest.cjs; JsonSchema.Net: by default).
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

const [nodeModules, outFile, ...flags] = process.argv.slice(2);
if (!nodeModules || !outFile) {
  console.error('usage: node build-job-schema.cjs <node_modules> <output.json> [--inline]');
  process.exit(64);
}
const inline = flags.includes('--inline');
const ROOT_ID = 'io.k8s.api.batch.v1.Job';

// 1. collect the fragments: stub @kubernetes-models/validate's register(id, schema)
const store = {};
const origLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === '@kubernetes-models/validate') {
    return { register: (id, schema) => { store[id] = schema; } };
  }
  return origLoad.apply(this, arguments);
};
const kmDir = path.resolve(nodeModules, 'kubernetes-models');
const kmVersion = JSON.parse(fs.readFileSync(path.join(kmDir, 'package.json'), 'utf8')).version;
require(path.join(kmDir, '_schemas', 'IoK8sApiBatchV1Job.js')).addSchema();
Module._load = origLoad;
if (!store[ROOT_ID]) throw new Error(`${ROOT_ID} was not registered`);

// 2. normalise each fragment
const refId = (ref) => {
  const m = /^([A-Za-z0-9_.-]+)#$/.exec(ref);
  if (!m) throw new Error(`unexpected $ref ${ref}`);
  if (!store[m[1]]) throw new Error(`$ref to unknown schema ${m[1]}`);
  return m[1];
};
function normalise(node) {
  if (Array.isArray(node)) return node.map(normalise);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'nullable') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, normalise(s)]));
    } else if (k === 'enum' || k === 'required') {
      out[k] = [...v];
    } else if (k === '$ref') {
      out.$ref = `#/definitions/${refId(v)}`;
    } else {
      out[k] = normalise(v);
    }
  }
  if (node.nullable === true) {
    if (out.type !== undefined) out.type = [...new Set([...[].concat(out.type), 'null'])];
    if (out.enum && !out.enum.includes(null)) out.enum.push(null);
    if (out.type === undefined && out.enum === undefined) {
      // a nullable schema without a type: allow null next to it
      return { oneOf: [out, { type: 'null' }] };
    }
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}
const definitions = {};
for (const [id, schema] of Object.entries(store)) definitions[id] = normalise(schema);

// 3. either keep local definitions or inline every $ref (Job's graph has no cycles; checked)
function inlineRefs(node, stack) {
  if (Array.isArray(node)) return node.map((n) => inlineRefs(n, stack));
  if (!node || typeof node !== 'object') return node;
  if (node.$ref) {
    const id = node.$ref.replace('#/definitions/', '');
    if (stack.includes(id)) throw new Error(`cycle through ${id}: use the definitions form`);
    const { $ref, ...rest } = node;
    const target = inlineRefs(definitions[id], [...stack, id]);
    return Object.keys(rest).length ? { allOf: [target, inlineRefs(rest, stack)] } : target;
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inlineRefs(v, stack)]));
}
const reachable = new Set();
(function mark(id) {
  if (reachable.has(id)) return;
  reachable.add(id);
  JSON.stringify(definitions[id], (k, v) => { if (k === '$ref') mark(v.replace('#/definitions/', '')); return v; });
})(ROOT_ID);

const comment = `Kubernetes batch/v1 Job, strict (no unknown fields), self-contained. Generated by ` +
  `tools/k8s/build-job-schema.cjs from the npm package kubernetes-models ${kmVersion} ` +
  `(MIT; its schemas come from the Kubernetes 1.27.1 OpenAPI spec).`;
let result;
if (inline) {
  result = { $schema: 'http://json-schema.org/draft-07/schema#', $comment: comment,
    ...inlineRefs(definitions[ROOT_ID], [ROOT_ID]) };
} else {
  const defs = {};
  for (const id of [...reachable].sort()) if (id !== ROOT_ID) defs[id] = definitions[id];
  result = { $schema: 'http://json-schema.org/draft-07/schema#', $comment: comment,
    ...definitions[ROOT_ID], definitions: defs };
}
fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
console.error(`wrote ${outFile}: ${reachable.size} definitions${inline ? ' inlined' : ''}, ` +
  `${fs.statSync(outFile).size} bytes (kubernetes-models ${kmVersion})`);
