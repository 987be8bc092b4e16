import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Validates Kubernetes objects against the upstream schema shipped by `kubernetes-models`:
 * 1. the model's own `validate()` (types, required fields, enums, formats), which does not reject
 *    unknown fields, so
 * 2. a strict walk of the object against the model's TypeScript interface (generated from the same
 *    OpenAPI schema): any field the schema does not declare, such as a misspelt one, is an error.
 */

interface KubernetesObject {
  apiVersion: string;
  kind: string;
  [field: string]: unknown;
}

/** The kubernetes-models packages of the custom resources the program creates, by API group. */
const CRD_PACKAGES: Record<string, string> = {
  'cert-manager.io': '@kubernetes-models/cert-manager',
  'karpenter.sh': '@kubernetes-models/karpenter',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/**
 * Kinds no kubernetes-models package describes: EKS Auto Mode's NodeClass (eks.amazonaws.com/v1) is
 * AWS's own CRD, published with no OpenAPI package. Callers list them, so none is skipped silently.
 */
export const UNMODELLED_KINDS = ['eks.amazonaws.com/v1/NodeClass'];

/** `apps/v1` → `kubernetes-models/apps/v1/Deployment`; a CRD's group → its own package. */
function modulePath(object: KubernetesObject): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  const root = (group ? CRD_PACKAGES[group] : undefined) ?? 'kubernetes-models';
  return `${root}/${object.apiVersion}/${object.kind}`;
}

let checker: ts.TypeChecker | undefined;

/**
 * One TypeScript program over the declarations of every kind in `objects`, built once: types from
 * different programs cannot be mixed, so all the interfaces come from the same checker.
 */
let cache: { types: Map<string, ts.Type> } | undefined;

function interfacesOf(objects: KubernetesObject[]): Map<string, ts.Type> {
  const paths = [...new Set(objects.map(modulePath))].sort();
  if (cache && paths.every((path) => cache?.types.has(path))) return cache.types;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const entry = `${root}__k8s_models_entry.ts`;
  const source = paths
    .map((path, index) => `export type { I${path.split('/').pop()} as T${index} } from '${path}';`)
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    // Only what the model declarations need: keeps building the program well under a second.
    lib: ['lib.es5.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (file) => file === entry || fileExists(file);
  host.readFile = (file) => (file === entry ? source : readFile(file));
  host.getSourceFile = (file, language) =>
    file === entry ? ts.createSourceFile(file, source, language) : getSourceFile(file, language);
  const program = ts.createProgram({ rootNames: [entry], options, host });
  const typeChecker = program.getTypeChecker();
  checker = typeChecker;
  const sourceFile = program.getSourceFile(entry);
  const moduleSymbol = sourceFile && typeChecker.getSymbolAtLocation(sourceFile);
  const exported = moduleSymbol ? typeChecker.getExportsOfModule(moduleSymbol) : [];
  const types = new Map<string, ts.Type>();
  paths.forEach((path, index) => {
    const symbol = exported.find((candidate) => candidate.name === `T${index}`);
    if (!symbol) throw new Error(`kubernetes-models declares no interface at ${path}`);
    types.set(path, typeChecker.getDeclaredTypeOfSymbol(typeChecker.getAliasedSymbol(symbol)));
  });
  cache = { types };
  return types;
}

function unknownFields(value: unknown, type: ts.Type, path: string, problems: string[]): void {
  if (!checker || value === null || typeof value !== 'object') return;
  let objectType = checker.getNonNullableType(type);
  if (objectType.isUnion()) {
    // IntOrString and friends: only an object member can constrain fields.
    const objects = objectType.types.filter((member) => member.flags & ts.TypeFlags.Object);
    if (objects.length !== 1) return;
    objectType = objects[0] as ts.Type;
  }
  if (Array.isArray(value)) {
    const element = checker.getIndexTypeOfType(objectType, ts.IndexKind.Number);
    if (element) {
      for (const [index, item] of value.entries())
        unknownFields(item, element, `${path}[${index}]`, problems);
    }
    return;
  }
  const mapValue = checker.getIndexTypeOfType(objectType, ts.IndexKind.String);
  for (const [key, child] of Object.entries(value)) {
    const property = checker.getPropertyOfType(objectType, key);
    if (property) unknownFields(child, checker.getTypeOfSymbol(property), `${path}.${key}`, problems);
    else if (mapValue) unknownFields(child, mapValue, `${path}.${key}`, problems);
    else problems.push(`${path}.${key} is not a field of the schema`);
  }
}

/** Returns every schema problem of the objects, prefixed by kind and path; empty means all valid. */
export async function schemaProblems(objects: KubernetesObject[]): Promise<string[]> {
  const interfaces = interfacesOf(objects);
  const problems: string[] = [];
  for (const object of objects) {
    const module = (await import(modulePath(object))) as Record<
      string,
      new (
        data: unknown,
      ) => { validate(): void }
    >;
    const Model = module[object.kind];
    if (!Model) {
      problems.push(`kubernetes-models has no ${object.kind} in ${modulePath(object)}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${object.kind} ${(error as Error).message}`);
    }
    unknownFields(object, interfaces.get(modulePath(object)) as ts.Type, object.kind, problems);
  }
  return problems;
}
