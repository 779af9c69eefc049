"""Consumer: ContactsImportChunkQueued → import one stored chunk of contact rows (identity's own import job)."""

from services.common.consumer import sqs_handler
from services.identity import app
from services.identity.use_cases.imports import process_chunk

handler = sqs_handler(
    "identity",
    {
        "ContactsImportChunkQueued": lambda e: process_chunk(
            app.imports(), app.profiles(), app.publisher(), e.data.import_id, e.data.chunk
        )
    },
)
