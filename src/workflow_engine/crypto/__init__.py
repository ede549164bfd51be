"""Encryption of sensitive data: the key ring, value envelopes and Temporal's payload codec."""
