/**
 * Who logged in, as the system's name service knows them, declared once
 * (pure): the numeric uid and the names of every group, primary included.
 *
 * @module
 */

import { array, type Infer, integer, object, string } from "../util/shape.ts";

/** The logging-in user's account. */
export const ACCOUNT = object({
  uid: integer({ min: 0, max: 2 ** 32 - 1 }),
  /** Sorted, each once. */
  groups: array(string({ min: 1 })),
});

/** The logging-in user's account. */
export type Account = Infer<typeof ACCOUNT>;
