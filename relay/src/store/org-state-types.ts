// What the relay holds of the organisation root: its anchor and newest revocation list.

/** What the relay holds of the organisation root; nothing here is trusted by Connect or agents. */
export interface OrgState {
  /** The anchor's exact text, as an admin set it. */
  anchor?: { text: string; setAt: string };
  /** The newest revocation list an admin set (a chain), with its sequence number. */
  crl?: { chain: string[]; seq: number; setAt: string };
}

export interface OrgStateStore {
  get(): Promise<OrgState>;
  /**
   * Serves this anchor. `newOrganisation`: it replaces another organisation's, whose revocation
   * list (and its sequence numbers) then goes too, in the same transaction: it no longer verifies,
   * and the new organisation's lists start their numbering afresh.
   */
  setAnchor(text: string, newOrganisation?: boolean): Promise<void>;
  /** Stores the list only if `seq` is higher than the one held (atomically); false otherwise. */
  setCrl(chain: string[], seq: number): Promise<boolean>;
}
