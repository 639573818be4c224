"""The customer centre's writes (keyword-only, typed, atomic), one module per topic."""
