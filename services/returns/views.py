"""HTTP routes of the returns service."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["returns"])
