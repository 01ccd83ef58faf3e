"""HTTP routes of the order service."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["order"])
