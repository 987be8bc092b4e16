import * as pulumi from '@pulumi/pulumi';

/**
 * A kubeconfig that is identical on every machine: the token comes from `aws eks get-token` at use
 * time, with no profile, path or cached credential in it. Anything machine-specific would change the
 * Kubernetes provider's inputs between laptop and CI, and every preview would replace the provider
 * and all Kubernetes resources with it.
 */
export function kubeconfig(args: {
  clusterName: pulumi.Input<string>;
  endpoint: pulumi.Input<string>;
  certificateAuthority: pulumi.Input<string>;
  region: pulumi.Input<string>;
}): pulumi.Output<string> {
  return pulumi
    .all([args.clusterName, args.endpoint, args.certificateAuthority, args.region])
    .apply(([clusterName, endpoint, certificateAuthority, region]) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: clusterName,
            cluster: { server: endpoint, 'certificate-authority-data': certificateAuthority },
          },
        ],
        users: [
          {
            name: clusterName,
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1beta1',
                command: 'aws',
                args: [
                  'eks',
                  'get-token',
                  '--cluster-name',
                  clusterName,
                  '--region',
                  region,
                  '--output',
                  'json',
                ],
                interactiveMode: 'Never',
              },
            },
          },
        ],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        'current-context': clusterName,
      }),
    );
}
