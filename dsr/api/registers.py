"""Ask before processing: the restriction register (Art. 18) and the suppression list (Art. 17, 21(3)).

Answers are yes/no for one identifier; nothing about the person or the request
is returned. Integrations ask with an API key holding `registers:read`; staff
with their session (any role).
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dsr.api.auth import AUTHENTICATION, ScopeRequired
from dsr.api.views import ERROR_RESPONSE
from dsr.models import ApiScope
from dsr.restrictions import restriction_check
from dsr.suppression import suppression_check

_KINDS = [("email", "email"), ("phone", "phone")]


class RegisterQuerySerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=254, help_text="An email address or phone number, in any spelling.")
    kind = serializers.ChoiceField(choices=_KINDS, required=False, help_text="Guessed from the identifier if left out.")


class RestrictionQuerySerializer(RegisterQuerySerializer):
    purpose = serializers.SlugField(
        max_length=64, help_text="The data map's key of the purpose you want to process for."
    )


class RestrictionAnswerSerializer(serializers.Serializer):
    restricted = serializers.BooleanField(help_text="True: only store the data; do not use it for this purpose.")


class SuppressionAnswerSerializer(serializers.Serializer):
    suppressed = serializers.BooleanField(help_text="True: do not import or contact this person for marketing.")


class RestrictionCheckView(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [ScopeRequired]
    required_scope = ApiScope.REGISTERS_READ

    @extend_schema(
        operation_id="restrictions_check",
        summary="May I process this person for this purpose?",
        description="GDPR Art. 18(2): while processing is restricted the data is only stored. Ask before each use.",
        parameters=[RestrictionQuerySerializer],
        responses={200: RestrictionAnswerSerializer, 400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE},
        examples=[OpenApiExample("Not restricted", value={"restricted": False}, response_only=True)],
        tags=["registers"],
    )
    def get(self, request):
        query = RestrictionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        restricted = restriction_check(data["identifier"], data["purpose"], kind=data.get("kind"))
        return Response({"restricted": restricted})


class SuppressionCheckView(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [ScopeRequired]
    required_scope = ApiScope.REGISTERS_READ

    @extend_schema(
        operation_id="suppression_check",
        summary="Is this person on the suppression list?",
        description="Erased people and marketing objections: skip them in marketing imports (GDPR Art. 17, 21(3)).",
        parameters=[RegisterQuerySerializer],
        responses={200: SuppressionAnswerSerializer, 400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE},
        examples=[OpenApiExample("On the list", value={"suppressed": True}, response_only=True)],
        tags=["registers"],
    )
    def get(self, request):
        query = RegisterQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        return Response({"suppressed": suppression_check(data["identifier"], kind=data.get("kind"))})
