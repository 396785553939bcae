"""Personal data: payload encryption for Temporal histories (codec, codec server) and masking
of id numbers and phone numbers in listings and logs."""
