"""The peer synthesizers the ``baselines`` stage can fit, and what the pipeline knows of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from traumasynth.core.errors import ParamsError

PeerName = Literal["gaussian_copula", "ctgan", "tvae", "aim", "mst"]


@dataclass(frozen=True)
class PeerInfo:
    """What the pipeline needs to know of a peer.

    Attributes:
        library: ``sdv`` (no DP) or ``smartnoise`` (DP, marginal-based, on a discrete table).
        dp: whether the peer is differentially private (its ε is ``train_dp_tabular.epsilon``).
        description: one line for the report.
    """

    library: Literal["sdv", "smartnoise"]
    dp: bool
    description: str


PEERS: dict[str, PeerInfo] = {
    "gaussian_copula": PeerInfo("sdv", False, "SDV GaussianCopulaSynthesizer (no DP)"),
    "ctgan": PeerInfo("sdv", False, "SDV CTGANSynthesizer (no DP)"),
    "tvae": PeerInfo("sdv", False, "SDV TVAESynthesizer (no DP)"),
    "aim": PeerInfo("smartnoise", True, "smartnoise-synth AIM (DP, adaptive marginals)"),
    "mst": PeerInfo("smartnoise", True, "smartnoise-synth MST (DP, maximum spanning tree of 2-way marginals)"),
}


def peer_info(peer: str) -> PeerInfo:
    """The peer registered as ``peer``; raises ParamsError listing the valid names."""
    if peer not in PEERS:
        raise ParamsError(f"Unknown peer '{peer}'. Valid peers: {', '.join(sorted(PEERS))}. Fix baselines.peers.")
    return PEERS[peer]
