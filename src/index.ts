// knetlab as a library: the engine of the command line, for a program's own tests (docs/API.md).
export { Lab, up, withLab, type ExecOptions, type ReloadReport } from './api/lab.js';
export { runScenario, runScenarios, validate } from './api/run.js';
export type {
  LabStepReport,
  RunScenarioOptions,
  RunScenariosOptions,
  ScenarioReport,
  StepExpect,
  StepExtras,
  StepInput,
  StepOptions,
  StepReport,
  Try,
} from './api/types.js';
export { KnetlabError, formatProblem, type ErrorCode, type Location, type Problem } from './errors.js';
export type { CaseResult, ExecResult, PhaseTiming, RunEvent, Status, StepSkip, TrySeen } from './run/types.js';
export type { KernelSeen } from './trace/verdict.js';
export { proxyModes, type ProxyMode } from './proxy/modes.js';
export { networks, type NetworkKind } from './cni/networks.js';
export { kubernetesVersions, type KubernetesVersion } from './dataplane/versions.js';
export { stepKindNames, type StepKindName } from './scenario/schema.js';
