"""Amazon Polly: a talkcast's script turned into speech, synchronously (`SynthesizeSpeech`).

Any failure of Polly (refused, throttled, unreachable, or an empty answer) is one error,
`speech_unavailable` (502): the caller has written nothing yet, so nothing is half-posted.
The script is sent to Polly and nowhere else; it is never logged.
"""
from __future__ import annotations

from chalicelib.errors import HavenError


class SpeechUnavailable(HavenError):
    code = "speech_unavailable"

    def __init__(self, message: str = "Speech synthesis is unavailable right now; nothing was posted. "
                                      "Try again in a few minutes."):
        super().__init__(message)


class Speech:
    def __init__(self, polly):
        """`polly`: a boto3 Polly client, or a callable returning one (built on first use)."""
        self._polly = polly

    @property
    def polly(self):
        return self._polly() if callable(self._polly) and not hasattr(self._polly, "synthesize_speech") \
            else self._polly

    def synthesize(self, text: str, voice_id: str, *, engine: str = "neural",
                   output_format: str = "mp3") -> tuple[bytes, str]:
        """(audio bytes, content type) of `text` spoken by `voice_id`."""
        from botocore.exceptions import BotoCoreError, ClientError

        from chalicelib.observability import logger

        try:
            response = self.polly.synthesize_speech(Text=text, TextType="text", VoiceId=voice_id, Engine=engine,
                                                    OutputFormat=output_format)
            stream = response["AudioStream"]
            try:
                audio = stream.read()
            finally:
                stream.close()
        except (ClientError, BotoCoreError) as error:
            code = error.response["Error"].get("Code") if isinstance(error, ClientError) else type(error).__name__
            logger.warning("speech synthesis failed", extra={"error": code, "voice": voice_id})
            raise SpeechUnavailable() from None
        if not audio:
            logger.warning("speech synthesis returned no audio", extra={"voice": voice_id})
            raise SpeechUnavailable()
        content_type = (response.get("ContentType") or "audio/mpeg").split(";")[0].strip()
        return audio, content_type
