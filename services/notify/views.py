"""HTTP routes of the notify service."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["notify"])
