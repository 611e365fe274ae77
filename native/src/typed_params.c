#include "typed_params.h"

#include "js_object.h"

napi_status typed_params_to_js(napi_env env, const virTypedParameter *params, int count,
                               napi_value *result) {
  js_object object;

  js_object_init(&object, env);
  for (int i = 0; i < count; i++) {
    const virTypedParameter *p = &params[i];

    switch (p->type) {
    case VIR_TYPED_PARAM_INT:
      js_object_number(&object, p->field, p->value.i);
      break;
    case VIR_TYPED_PARAM_UINT:
      js_object_number(&object, p->field, p->value.ui);
      break;
    case VIR_TYPED_PARAM_LLONG:
      js_object_number(&object, p->field, (double)p->value.l);
      break;
    case VIR_TYPED_PARAM_ULLONG:
      js_object_number(&object, p->field, (double)p->value.ul);
      break;
    case VIR_TYPED_PARAM_DOUBLE:
      js_object_number(&object, p->field, p->value.d);
      break;
    case VIR_TYPED_PARAM_BOOLEAN:
      js_object_bool(&object, p->field, p->value.b);
      break;
    case VIR_TYPED_PARAM_STRING:
      js_object_string(&object, p->field, p->value.s);
      break;
    default:
      break;
    }
  }
  return js_object_done(&object, result);
}
