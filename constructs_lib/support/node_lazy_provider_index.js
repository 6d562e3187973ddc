// The Node.js-side twin of constructs_lib/support/provider.py's lean import, loaded into the jsii
// kernel's node process through NODE_OPTIONS=--require (set by constructs_lib/support/jsii_env.py).
//
// Why: the jsii kernel require()s the AWS provider package (@cdktf/provider-aws for CDKTF,
// @cdktn/provider-aws for CDK Terrain), whose lib/index.js eagerly require()s all ~2,200
// resource modules (~267 MB of JS): seconds of CPU and most of node's memory, even though
// a synth uses ~40 of them. The kernel only ever reads `index[submodule][Type]`, so
// exporting each submodule as a lazy getter loads just the ones that are used. The
// synthesized JSON is identical (tests/framework compares it byte for byte).
//
// Two index layouts are known (both emitted by the TypeScript compiler for
// `export * as x from "./x"`, with and without esModuleInterop):
//   CDKTF 0.21 bindings:        exports.x = require("./x");
//   CDK Terrain 0.24 bindings:  exports.x = __importStar(require("./x/index"));
// For the second, the getter applies the same __importStar semantics (a module compiled
// with __esModule is returned as is, anything else is wrapped with a `default`).
//
// Safety valves: only a provider-aws lib/index.js is touched; if it matches neither layout
// (fewer than 1,000 such lines), the stock loader runs unchanged. CDKTF_EAGER_PROVIDER_IMPORT=1
// keeps jsii_env.py from loading this file at all. CDKTF_LAZY_INDEX_DEBUG=1 reports on
// stderr what was done, with which layout (the bench and the tests read that line).
"use strict";
const Module = require("module");
const fs = require("fs");

const INDEX = /[\\/]provider-aws[\\/](?:.*[\\/])?lib[\\/]index\.js$/;
const LAYOUTS = [
  { name: "require", line: /^exports\.([A-Za-z0-9_$]+) = require\("(\.\/[^"]+)"\);?$/gm, wrap: (m) => m },
  { name: "importStar", line: /^exports\.([A-Za-z0-9_$]+) = __importStar\(require\("(\.\/[^"]+)"\)\);?$/gm, wrap: importStar },
];
const MIN_EXPORTS = 1000;
const stockLoader = Module._extensions[".js"];

function importStar(mod) {
  if (mod && mod.__esModule) return mod;
  const result = {};
  if (mod != null) for (const key of Object.getOwnPropertyNames(mod)) if (key !== "default") result[key] = mod[key];
  result.default = mod;
  return result;
}

function lazyExports(source) {
  for (const layout of LAYOUTS) {
    const pairs = [...source.matchAll(layout.line)].map((m) => [m[1], m[2]]);
    if (pairs.length >= MIN_EXPORTS) return { layout, pairs };
  }
  return null;
}

Module._extensions[".js"] = function lazyProviderIndex(module, filename) {
  if (!INDEX.test(filename)) return stockLoader(module, filename);
  const found = lazyExports(fs.readFileSync(filename, "utf8"));
  if (found === null) {
    // Not a layout this was written for: load it the stock way, and say so when asked.
    if (process.env.CDKTF_LAZY_INDEX_DEBUG) process.stderr.write(`[lazy-index] layout not recognised, stock loader for ${filename}\n`);
    return stockLoader(module, filename);
  }
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const [name, relative] of found.pairs) {
    let loaded;
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        if (loaded === undefined) loaded = found.layout.wrap(module.require(relative));
        return loaded;
      },
    });
  }
  if (process.env.CDKTF_LAZY_INDEX_DEBUG) {
    process.stderr.write(`[lazy-index] ${found.pairs.length} lazy exports (${found.layout.name} layout) for ${filename}\n`);
  }
};
