"""The claimant's self-service page (DOMAIN §11): report a claim, see in plain words where it
is and what is still needed, upload the missing documents, read the letters, appeal a denial
and complain about the claim. It reads the read model and acts through the same Temporal
messages as the CLI; access is a per-claim link with an unguessable token."""
