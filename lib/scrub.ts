/**
 * Removing what users can put into the PAM environment to redirect or
 * silence the event about their own login (pam_env's user_readenv reads
 * ~/.pam_environment): AWS SDK settings, tattle's own, and proxies.
 *
 * @module
 */

const PROXY_VARIABLES = new Set([
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
]);

/** Whether a variable could change where or whether the event is sent. */
export function isUntrustedVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return upper.startsWith("AWS_") || upper.startsWith("TATTLE_") || PROXY_VARIABLES.has(name);
}

/** The names to remove from an environment holding `names`. */
export function untrustedVariables(names: Iterable<string>): string[] {
  return [...names].filter(isUntrustedVariable);
}

/**
 * Removes every untrusted variable from this process's environment, before
 * any SDK client exists. `Deno.env.toObject` leaves out variables whose value
 * is not UTF-8; those are looked up by name as well.
 */
export function scrubEnvironment(): string[] {
  const names = untrustedVariables(Object.keys(Deno.env.toObject()));
  for (const name of names) Deno.env.delete(name);
  for (const name of KNOWN_SDK_VARIABLES) {
    try {
      Deno.env.get(name);
    } catch {
      Deno.env.delete(name); // set, but not valid UTF-8
      names.push(name);
    }
  }
  return names;
}

/** SDK variables checked by name too, in case their value is not valid UTF-8. */
const KNOWN_SDK_VARIABLES = [
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_EVENTBRIDGE",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_PROFILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_CA_BUNDLE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
];
