"""Photo uploads shared by the participation domains (volunteer visits, problems, reports).

Public surface: :mod:`participation.media.service` (``store_photo``, ``attach``, ``photos_of``,
``read_photo``, ``delete_photo``, ``register_access``) and the ``Photo`` table in
:mod:`participation.media.models`. Storage back ends live in :mod:`participation.media.storage`.
"""
