#!/usr/bin/env node
// Validates Kubernetes manifests (YAML, several documents per file allowed, or JSON) against a JSON
// Schema with ajv (draft-07). Exit 0 when every document is valid, 1 otherwise.
//
//   node validate-manifest.cjs <node_modules> <schema.json> <manifest.yaml>...
//   node validate-manifest.cjs <node_modules> <schema.json> --expect-invalid <manifest.yaml>...
//        (exit 0 only when every document is INVALID: for negative tests)
'use strict';
const fs = require('fs');
const path = require('path');

const [nodeModules, schemaFile, ...rest] = process.argv.slice(2);
const expectInvalid = rest.includes('--expect-invalid');
const files = rest.filter((a) => a !== '--expect-invalid');
if (!nodeModules || !schemaFile || files.length === 0) {
  console.error('usage: node validate-manifest.cjs <node_modules> <schema.json> [--expect-invalid] <manifest>...');
  process.exit(64);
}
const Ajv = require(path.resolve(nodeModules, 'ajv')).default;
const YAML = require(path.resolve(nodeModules, 'yaml'));

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
// the OpenAPI formats the Kubernetes schema uses
ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i);
ajv.addFormat('quantity', /^[+-]?(\d+(\.\d*)?|\.\d+)(([eE][+-]?\d+)|[numkMGTPE]|[KMGTPE]i)?$/);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));

let bad = 0;
let good = 0;
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const docs = file.endsWith('.json') ? [JSON.parse(text)]
    : YAML.parseAllDocuments(text).map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      return d.toJSON();
    }).filter((d) => d !== null);
  docs.forEach((doc, i) => {
    const name = `${file}${docs.length > 1 ? `#${i}` : ''}`;
    if (validate(doc)) {
      good++;
      console.log(`${expectInvalid ? 'UNEXPECTEDLY VALID' : 'valid'}: ${name}`);
    } else {
      bad++;
      console.log(`${expectInvalid ? 'invalid (as expected)' : 'INVALID'}: ${name}`);
      for (const e of validate.errors.slice(0, 8)) {
        console.log(`  ${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? `: ${e.params.additionalProperty}` : ''}`);
      }
    }
  });
}
process.exit(expectInvalid ? (good === 0 ? 0 : 1) : (bad === 0 ? 0 : 1));
