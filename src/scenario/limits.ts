// Every bound knetlab puts on its input, in one place: scenario files come from bug reports and
// other people's repositories, and are read as root, so no input may take unbounded time or memory.
// docs/SCENARIO_FORMAT.md lists them for users; change both together.

/** A scenario or manifest file larger than this is refused before it is read. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * YAML tokens (the lexer's: scalars, indicators, spaces, line ends) in a scenario and every file it
 * reads, together. The yaml library parses 100,000 to 200,000 of them a second on this project's
 * 2-core machine, so this keeps the worst file within the 2 s a refusal may take, with the start
 * of node and validation (about 120 KB of block-style YAML).
 */
export const MAX_YAML_TOKENS = 60_000;

/** YAML documents in one file (a `---` each). */
export const MAX_DOCUMENTS = 1000;

/** Nesting of mappings and lists: a Deployment is about 12 deep; the yaml library overflows its stack near 1000. */
export const MAX_DEPTH = 64;

/** Uses of an anchor's content through aliases (the yaml library's maxAliasCount): a bomb expands to billions. */
export const MAX_ALIAS_COUNT = 100;

/** Problems printed per file; the rest are counted in one last line. */
export const MAX_PROBLEMS_SHOWN = 200;

/** A key or scalar longer than this is shown cut short in a message. */
export const MAX_SHOWN_CHARS = 80;

// Durations, in milliseconds: every one fits Node's timers (at most 2^31-1 ms, about 24.8 days).
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** A `sleep` step. */
export const MAX_SLEEP_MS = HOUR;
/** One try of an http, tcp, udp, ping or dns step. */
export const MAX_PROBE_TIMEOUT_MS = 5 * MINUTE;
/** An exec step's command. */
export const MAX_EXEC_TIMEOUT_MS = HOUR;
/** The steps of one scenario, in the worst case, unless `--timeout` says otherwise. */
export const DEFAULT_SCENARIO_LIMIT_MS = 30 * MINUTE;
/** The most `--timeout` may allow. */
export const MAX_SCENARIO_LIMIT_MS = 24 * HOUR;

// Counts.
/** `count:` of a probe step. */
export const MAX_COUNT = 1000;
/** Entries of `nodes`, `hosts`, `manifests` and `steps`. */
export const MAX_NODES = 250;
export const MAX_HOSTS = 250;
export const MAX_MANIFESTS = 1000;
export const MAX_STEPS = 2000;
/**
 * Validation re-runs the controllers at every apply, patch, delete and scale step, over every pod,
 * Service and endpoint: at most this many of them in all (e.g. 15 such steps over 2000 of them).
 */
export const MAX_STEP_WORK = 30_000;
/** Endpoints of all Services' selectors together (Services x the pods each selects), at any moment. */
export const MAX_ENDPOINTS = 10_000;
/** Pods of a scenario at any moment (replicas, DaemonSet pods, Pods; kube-dns's two too). */
export const MAX_PODS = 1000;
