/**
 * The environment variables that matter to a PAM hook, by who can set them
 * (pure).
 *
 * pam_exec builds its child's environment as the PAM environment (which
 * pam_env can fill from a user's `~/.pam_environment`) followed by its own
 * items, so a name can appear twice and only the last copy is pam_exec's.
 *
 * @module
 */

/** The items pam_exec appends after the PAM environment, in its order. */
export const PAM_EXEC_ITEMS = [
  "PAM_SERVICE",
  "PAM_USER",
  "PAM_TTY",
  "PAM_RHOST",
  "PAM_RUSER",
  "PAM_TYPE",
] as const;

/** One of {@link PAM_EXEC_ITEMS}. */
export type PamItem = typeof PAM_EXEC_ITEMS[number];

/** What sshd puts into the PAM environment, which pam_env can overwrite. */
export const SSHD_VARIABLES = ["SSH_CONNECTION", "SSH_AUTH_INFO_0"] as const;

const RUNTIME_PREFIXES = ["LD_", "DENO_", "NODE_", "SSL_", "OPENSSL_", "OTEL_", "RUST_"];
const RUNTIME_NAMES = new Set([
  "SSLKEYLOGFILE",
  "GLIBC_TUNABLES",
  "LOCPATH",
  "GCONV_PATH",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
]);

/**
 * Whether the dynamic loader, the runtime or its TLS and Node layers would
 * read `name`: a way for whoever set it to change what a root process does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRuntimeVariable } from "./variables.ts";
 * assert.equal(isRuntimeVariable("LD_PRELOAD"), true);
 * assert.equal(isRuntimeVariable("https_proxy"), true);
 * assert.equal(isRuntimeVariable("LANG"), false);
 * ```
 */
export function isRuntimeVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return RUNTIME_PREFIXES.some((p) => upper.startsWith(p)) || RUNTIME_NAMES.has(upper);
}

/**
 * Variables the runtime reads that are looked up by name as well as listed:
 * a value that is not UTF-8 hides a variable from the runtime's listing.
 */
export const KNOWN_RUNTIME_VARIABLES = [
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "LD_AUDIT",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "DENO_V8_FLAGS",
  "DENO_AUDIT_PERMISSIONS",
  "DENO_TRACE_PERMISSIONS",
  "DENO_DIR",
  "NODE_EXTRA_CA_CERTS",
  "NODE_TLS_REJECT_UNAUTHORIZED",
  "NODE_DEBUG",
  "NODE_OPTIONS",
  "NODE_USE_ENV_PROXY",
  "NODE_USE_SYSTEM_CA",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "SSLKEYLOGFILE",
  "OTEL_DENO",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
] as const;

/**
 * Variables the runtime sets in its own environment at start-up (for its
 * Node compatibility layer): their presence says nothing about the caller.
 */
export const RUNTIME_SET_VARIABLES: ReadonlySet<string> = new Set(["DENO_NODE_SHIM_ACTIVE"]);

/**
 * Variables the development launcher (`deno run`, the test harness) sets for
 * Deno itself; expected in script mode only.
 */
export const SCRIPT_MODE_VARIABLES: ReadonlySet<string> = new Set([
  "DENO_DIR",
  "DENO_NO_UPDATE_CHECK",
]);

/** Whether `name` is one of the AWS SDK's settings (AWS_REGION, AWS_ACCESS_KEY_ID, …). */
export function isAwsVariable(name: string): boolean {
  return name.toUpperCase().startsWith("AWS_");
}

/**
 * The names the hook keeps once the session is read: everything else is
 * removed, so that neither the runtime nor the AWS SDK reads what a user may
 * have put into the PAM environment.
 */
export function keptInHook(name: string): boolean {
  return (PAM_EXEC_ITEMS as readonly string[]).includes(name) ||
    (SSHD_VARIABLES as readonly string[]).includes(name);
}
