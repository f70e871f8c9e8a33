"""MuscleMap Study library."""
