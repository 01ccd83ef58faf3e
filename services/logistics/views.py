"""HTTP routes of the logistics service."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["logistics"])
