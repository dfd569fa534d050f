import { enrollAgent, type EnrollError } from './enroll.js';
import { defaultStateDir, hasEnrollment, type AgentEnrollment } from './state-dir.js';

export type FirstStartOutcome =
  /** No enrollmentToken configured: nothing to do. */
  | { action: 'none' }
  /** The state dir is already enrolled; the token is not presented again (it is single use). */
  | { action: 'already-enrolled'; stateDir: string }
  | { action: 'enrolled'; stateDir: string; enrollment: AgentEnrollment };

/**
 * For VM images: when the configuration carries an `enrollmentToken` and the state directory is
 * still empty, enroll once before the agent starts. Later starts find the state and skip this, so
 * an image can keep the (by then spent) token in its configuration.
 */
export async function enrollOnFirstStart(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ok: true; value: FirstStartOutcome } | { ok: false; error: EnrollError }> {
  const token = input.enrollmentToken;
  if (typeof token !== 'string' || token === '') return { ok: true, value: { action: 'none' } };
  const stateDir = typeof input.stateDir === 'string' && input.stateDir ? input.stateDir : defaultStateDir(env);
  if (hasEnrollment(stateDir)) return { ok: true, value: { action: 'already-enrolled', stateDir } };
  const relayUrl = input.relayUrl;
  if (typeof relayUrl !== 'string' || relayUrl === '')
    return {
      ok: false,
      error: { code: 'bad-url', message: 'relayUrl: missing (needed to enroll with enrollmentToken)' },
    };
  const result = await enrollAgent({ relayUrl, token, stateDir });
  if (!result.ok) return result;
  return { ok: true, value: { action: 'enrolled', stateDir, enrollment: result.value } };
}
