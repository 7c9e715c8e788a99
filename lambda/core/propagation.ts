/*
 * The propagation delay's split and the decision age bound live in the contract shared with the constructs
 * (lib/contract.ts, with the proof that P holds); the handlers' modules import them from here.
 */
export {
  MAX_DECISION_AGE_SECONDS,
  MAX_MEMORY_TTL_SECONDS,
  splitPropagationDelay,
  type PropagationBudget,
} from '../../lib/contract';
