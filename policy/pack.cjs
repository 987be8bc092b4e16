// Entry point of the policy pack (package.json "main"). Pulumi starts a Node.js pack with
// `@pulumi/pulumi/cmd/run-policy-pack`, which require()s this directory with its vendored ts-node
// forced on: it honours neither PulumiPolicy.yaml runtime options (`typescript: false`) nor
// `nodeargs`, and its ts-node cannot load ESM TypeScript with NodeNext `.js` imports. So this CommonJS
// file registers tsx (the loader the Pulumi program uses) and loads the TypeScript pack through it.
require('tsx/cjs/api').register();
require('./index.ts');
