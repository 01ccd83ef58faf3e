"""HTTP routes of the payment service."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["payment"])
