"""pdp: a policy decision point for Altinn access packages (tilgangspakker)."""
