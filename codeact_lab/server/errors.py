"""The refusals the server's parts raise; the routes turn each into its status code."""

from __future__ import annotations


class EpisodeError(Exception):
    status = 400


class BadRequest(EpisodeError):
    status = 400


class Forbidden(EpisodeError):
    status = 403


class NotFound(EpisodeError):
    status = 404


class Conflict(EpisodeError):
    status = 409


class TooLarge(EpisodeError):
    status = 413
