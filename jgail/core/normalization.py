"""Running mean/variance of observations (parallel Welford), kept inside the training state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

CLIP = 10.0


@struct.dataclass
class RunningStats:
    """Running mean and variance of observations, per entry; `count` is the (float) number of
    observations merged so far (starting at 1e-4, so the first update dominates)."""

    mean: jax.Array  # [obs_dim]
    var: jax.Array  # [obs_dim]
    count: jax.Array  # []

    @classmethod
    def create(cls, dim: int) -> RunningStats:
        """Initial statistics for `dim` entries: mean 0, variance 1 (normalize is then the identity,
        up to clipping)."""
        return cls(jnp.zeros((dim,)), jnp.ones((dim,)), jnp.asarray(1e-4))

    def update(self, batch: jax.Array) -> RunningStats:
        """Merge a batch [..., dim] of observations (Chan et al. parallel variance)."""
        batch = batch.reshape(-1, self.mean.shape[0])
        if batch.shape[0] == 0:  # static: nothing to merge (the batch mean would be 0/0)
            return self
        b_mean, b_var, b_count = batch.mean(0), batch.var(0), batch.shape[0]
        total = self.count + b_count
        delta = b_mean - self.mean
        mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        return RunningStats(mean, m2 / total, total)

    def normalize(self, x: jax.Array) -> jax.Array:
        """`x` [..., dim] standardised by these statistics, clipped to [-CLIP, CLIP]."""
        return jnp.clip((x - self.mean) / jnp.sqrt(self.var + 1e-8), -CLIP, CLIP)

