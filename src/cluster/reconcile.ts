import type { ServiceObject } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import { computeEndpointSlices } from './endpoints.js';
import { allocateServices } from './services.js';
import type { Model } from './types.js';
import { reconcilePods } from './workloads.js';

/**
 * Runs the controllers over the applied objects: pods, Service addresses, EndpointSlices. Pure:
 * returns a new model and leaves the given one as it was.
 */
export function reconcile(prev: Model, problems: Problems): Model {
  const model: Model = { ...prev, ipamLast: { ...prev.ipamLast }, nextPodIndex: { ...prev.nextPodIndex } };
  const pods = reconcilePods(model, model.objects, problems);
  const serviceObjects = model.objects.filter((o): o is ServiceObject => o.kind === 'Service');
  const services = allocateServices(prev.services, serviceObjects, model.config, model.nodes, model.hosts, problems);
  const endpointSlices = computeEndpointSlices(services, pods, model.objects, model.nodes, problems, model.config.kubernetesVersion);
  return { ...model, pods, services, endpointSlices };
}
