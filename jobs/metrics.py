"""CloudWatch metric contract (DESIGN §3.4): namespace, names, units, dimensions.

The monitoring helper extends this module; the Pulumi monitoring component imports it.
"""

from __future__ import annotations

NAMESPACE = "EnsembleForecast"
