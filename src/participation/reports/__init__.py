"""Reward-for-report (有奖举报), city service codes (城市服务码) and Open311 GeoReport v2.

* :mod:`.models` — categories, published tariff, facilities, reports (contact encrypted),
  verifications, rewards, payouts, staff phones (Alembic branch ``reports``);
* :mod:`.service` — filing with automatic duplicate links, triage, verification, reward rules
  (first valid report, tariff, monthly cap, staff excluded, four eyes), payouts, ledger;
* :mod:`.codes` — QR codes per facility (PNG, SVG, printable sheets);
* :mod:`.pages`, :mod:`.api`, :mod:`.open311` — the web edge (:mod:`.web` holds what they share);
* :mod:`.demo`, :mod:`.cli` — demo data and ``participation reports ...`` commands.
"""
