"""Activities, grouped by what they touch: the read model, rules, letters and payments."""
