"""The settlement doctor: names the cause of a failed settlement, with evidence, in Chinese
and English, and runs the safe recovery itself (its causes: docs/doctor.md, "Causes")."""
