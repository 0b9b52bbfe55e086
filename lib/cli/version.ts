/** tattle's version: the one place it is written down (also used by `deno task compile`). */
export const VERSION = "0.1.0";
