/**
 * Finds ZeroMQ endpoints in source code without running it: bind/connect calls
 * whose endpoint is a literal, or is built from literals nearby (`"tcp://*:%s" %
 * port` with `port = "5556"` a few lines up or as a default argument, f-strings,
 * `.format`, template literals, `+` concatenation, printf-style helpers).
 *
 * A tolerant scanner, not a parser: comments are blanked first (and Python's
 * triple-quoted strings, which are docstrings or prose), so endpoints that are
 * only *described* in comments or docs are never reported; only calls count.
 * Anything it cannot resolve to a valid endpoint is skipped rather than guessed.
 */
import { discoveryLanguage, DiscoveredEndpoint } from './discoveredEndpoint';
import { Scanner } from './scanner';

export { DISCOVERY_LANGUAGE_IDS, discoveryLanguage } from './discoveredEndpoint';
export type { DiscoveredEndpoint, DiscoveryLanguage } from './discoveredEndpoint';
export { observableAddress, observeActionFor } from './observe';
export type { ObserveAction } from './observe';
export { maskComments } from './masking';

/** Finds bind/connect calls carrying a resolvable endpoint. Results are in source order. */
export function findEndpointsInText(text: string, languageIdOrPath: string): DiscoveredEndpoint[] {
  const language = discoveryLanguage(languageIdOrPath);
  if (!language) return [];
  const scan = new Scanner(text, language);
  return scan.run();
}
