import type * as k8s from '@pulumi/kubernetes';
import type { PublicServer } from '../config.js';
import { ingressRoutes } from './ingress-path.js';
import {
  BODY_ANNOTATIONS,
  INGRESS_CLASS,
  type IngressController,
  SSE_ANNOTATIONS,
  SSE_MARKER_ANNOTATION,
} from './sse.js';

export interface IngressArgs {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  server: PublicServer;
  controller: IngressController;
  /** With a domain, nginx serves the controller's wildcard certificate for the host (TLS ends in nginx). */
  tls: boolean;
}

/**
 * The Ingress of one public server: its host and the paths its clients need on the controller's
 * class, the streaming and body-size annotations, and TLS for its host. It routes to the Service's
 * `http` port only: METRICS_PORT is on no Service and so on no Ingress.
 */
export function ingressSpec(args: IngressArgs): {
  metadata: k8s.types.input.meta.v1.ObjectMeta;
  spec: k8s.types.input.networking.v1.IngressSpec;
} {
  const { server, name } = args;
  const route = ingressRoutes(args.controller, server);
  const host = server.ingress.host;
  // A TLS entry without a secret is served with the controller's wildcard (F5: `-wildcard-tls-secret`)
  // or default certificate (ingress-nginx: `--default-ssl-certificate`); a configured secret wins.
  const tls =
    host && (server.ingress.tlsSecretName || args.tls)
      ? [
          {
            hosts: [host],
            ...(server.ingress.tlsSecretName ? { secretName: server.ingress.tlsSecretName } : {}),
          },
        ]
      : undefined;
  return {
    metadata: {
      name,
      namespace: args.namespace,
      labels: args.labels,
      annotations: {
        // The marker tells the policy pack this Ingress streams, whichever controller's annotations follow.
        ...(server.ingress.sse
          ? { [SSE_MARKER_ANNOTATION]: 'true', ...SSE_ANNOTATIONS[args.controller] }
          : {}),
        ...BODY_ANNOTATIONS[args.controller],
        ...route.annotations,
      },
    },
    spec: {
      ingressClassName: INGRESS_CLASS[args.controller],
      ...(tls ? { tls } : {}),
      rules: [
        {
          ...(host ? { host } : {}),
          http: {
            paths: route.paths.map((path) => ({
              ...path,
              backend: { service: { name, port: { name: 'http' } } },
            })),
          },
        },
      ],
    },
  };
}
